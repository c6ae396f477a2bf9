"""The producer app's pages: home, new batch, a batch with its forms, receiving, transforming."""
