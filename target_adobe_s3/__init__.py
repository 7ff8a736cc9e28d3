"""target-adobe-s3: export audience segment members to Amazon S3 as AEP does."""
