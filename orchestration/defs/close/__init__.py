"""The close domain: the issue step, its checks, the close lock, the job and schedule."""
