"""`fatelab security`: what protection costs, what leaks without it, what one bad party can do (issue 13)."""
