from farmtrace.cli import main

main()
