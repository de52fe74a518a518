"""`python -m s5utils.run_notebook IN OUT -p name value`, the command make run uses; it lives in
s5utils.notebooks.run_notebook."""

import sys

from s5utils.notebooks.run_notebook import main

if __name__ == "__main__":
    sys.exit(main())
