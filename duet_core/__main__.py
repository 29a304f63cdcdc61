import sys

from duet_core.cli.main import main

sys.exit(main())
