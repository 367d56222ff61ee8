"""`python -m services.cli ...`: what `fangpin up` and the end-to-end tests start."""

from services.cli import main

main()
