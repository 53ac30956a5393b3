from importer.sandbox.cli import main

raise SystemExit(main())
