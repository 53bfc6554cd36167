"""The command line: parses arguments, owns output folders, provenance and printing."""
