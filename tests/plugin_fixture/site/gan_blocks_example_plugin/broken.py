raise ImportError("this example plugin is broken on purpose")
