"""Models land with the API issue."""
