"""Entry script of the frozen command-line tool (``gen2res``); PyInstaller runs it as __main__."""

from gen2res_desktop.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
