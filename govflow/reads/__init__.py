"""Read models: what a reader may see (secrecy projection), lists, reports and time travel."""
