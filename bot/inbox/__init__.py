"""The inbox: why a text needs a person, threads, staff replies."""
