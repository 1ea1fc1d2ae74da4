from syndicate.cli import main

raise SystemExit(main())
