"""Help assistant: retrieval and answering (question -> Answer)."""
