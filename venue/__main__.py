import sys

from venue.app import main

sys.exit(main())
