"""Plain task functions of a composed config (`train(cfg)`, ...), called by the CLI and by tests."""
