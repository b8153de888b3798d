import sys

from rklab.cli import main

sys.exit(main())
