"""Models land with the console issue."""
