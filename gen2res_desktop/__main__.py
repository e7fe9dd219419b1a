from gen2res_desktop.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
