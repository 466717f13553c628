"""A small hand-made tool catalog (GitHub, Stripe and Kubernetes operations) for the search tests."""

from __future__ import annotations

from collections.abc import Sequence

from toolgate.spec.models import Annotations, CanonicalTool


def tool(
    name: str,
    method: str,
    path: str,
    summary: str,
    description: str = "",
    *,
    tags: Sequence[str] = (),
    parameters: Sequence[str] = (),
) -> CanonicalTool:
    return CanonicalTool(
        name=name,
        description="\n\n".join(part for part in (summary, description) if part),
        method=method,
        path=path,
        pointer=f"/paths/{path.replace('/', '~1')}/{method.lower()}",
        input_schema={"type": "object", "properties": {p: {"type": "string"} for p in parameters}},
        annotations=Annotations(title=summary),
        tags=list(tags),
    )


CATALOG = [
    tool("repos_create_webhook", "POST", "/repos/{owner}/{repo}/hooks", "Create a repository webhook",
         tags=["repos"], parameters=["owner", "repo", "config", "events"]),
    tool("repos_get_webhook", "GET", "/repos/{owner}/{repo}/hooks/{hook_id}", "Get a repository webhook",
         tags=["repos"], parameters=["owner", "repo", "hook_id"]),
    tool("repos_delete_webhook", "DELETE", "/repos/{owner}/{repo}/hooks/{hook_id}",
         "Delete a repository webhook", tags=["repos"], parameters=["owner", "repo", "hook_id"]),
    tool("orgs_delete_webhook", "DELETE", "/orgs/{org}/hooks/{hook_id}", "Delete an organization webhook",
         tags=["orgs"], parameters=["org", "hook_id"]),
    tool("issues_create", "POST", "/repos/{owner}/{repo}/issues", "Create an issue",
         "Any user with pull access to a repository can create an issue.", tags=["issues"],
         parameters=["owner", "repo", "title", "body"]),
    tool("issues_list_for_repo", "GET", "/repos/{owner}/{repo}/issues", "List repository issues",
         tags=["issues"], parameters=["owner", "repo", "state"]),
    tool("pulls_merge", "PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "Merge a pull request",
         tags=["pulls"], parameters=["owner", "repo", "pull_number", "merge_method"]),
    tool("post_refunds", "POST", "/v1/refunds", "Create a refund",
         "When you create a new refund, you must specify a Charge or a PaymentIntent object on which to "
         "create it. Refunding a charge returns the funds to the customer's card.",
         tags=["refunds"], parameters=["charge", "amount"]),
    tool("post_customers", "POST", "/v1/customers", "Create a customer", tags=["customers"],
         parameters=["email", "name"]),
    tool("readNamespacedPodLog", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/log",
         "read log of the specified Pod", parameters=["namespace", "name", "container"]),
    tool("listStorageClass", "GET", "/apis/storage.k8s.io/v1/storageclasses",
         "list or watch objects of kind StorageClass"),
    tool("users_get_authenticated", "GET", "/user", "Get the authenticated user", tags=["users"]),
]  # fmt: skip
