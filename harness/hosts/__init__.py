"""Party hosts: the inventory model and verified SSH/SFTP to them."""
