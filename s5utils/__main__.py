import sys

from s5utils.cli import main

sys.exit(main())
