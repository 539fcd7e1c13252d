"""Generated benchmark: procedurally drawn faces, FACS expressions on a timeline, written in the DFEW layout."""
