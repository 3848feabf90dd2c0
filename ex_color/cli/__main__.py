from ex_color.cli import main

main()
