"""Long-running operations as jobs, run by the jobs state machine (infra/jobs.py).

- **Terms** (`terms`): job ids and statuses, which tools run as jobs, the job-status tool: all that a
  synchronous call or a listing asks of jobs, so that neither loads the rest of this package.
- **Records** (`records`): the job row, its views, and where its result is kept.
- **Launch** (`launch.JobLauncher`, on the invoke path): the call's arguments are checked, a job row is
  written in the tenant's partition and an execution started; the model gets `{job_id, status: "running"}`
  at once, with a hint to call the job-status tool.
- **Run** (`runner.JobRunner`, the state machine's tasks): submit the call, then poll its status endpoint on
  the integration's own origin with a capped backoff, or hand the target a signed callback URL and wait.
- **Callbacks** (`callbacks.CallbackReceiver`): a genuine, unexpired callback completes its job once;
  anything else is refused with a typed error and changes nothing.
- **Read and cancel** (`queries.JobQueries`): `GET /v1/jobs/{id}`, the job-status tool and
  `DELETE /v1/jobs/{id}`, only ever within the caller's tenant.

A job's result stays on its row when small, and in S3 behind a continuation handle when not. No
credential, callback URL or task token ever appears in a view, a result or an error.

Pure: AWS is reached through the ports in `toolgate.service.ports`, HTTP through the runtime's `Transport`.
"""
