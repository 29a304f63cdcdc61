import sys

from duet_core.cli import main

sys.exit(main())
