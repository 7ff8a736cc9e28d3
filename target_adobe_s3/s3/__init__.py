"""S3: credentials, the client, and complete-or-absent uploads streamed while input is read."""
