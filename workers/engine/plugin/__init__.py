"""The pytest plugin the bot ships into every test process (`-p golden_path_stream`)."""
