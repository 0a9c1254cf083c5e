"""oopsguard proxy: the SMTP service, CLI, store, bounces and digests (all the I/O)."""
