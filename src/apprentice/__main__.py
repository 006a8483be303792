from apprentice.cli.app import main

main()
