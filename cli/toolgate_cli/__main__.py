import sys

from toolgate_cli.main import main

sys.exit(main())
