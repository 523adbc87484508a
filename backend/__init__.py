"""Search a video collection by what is seen, said and written in it (CLaMR late interaction)."""
