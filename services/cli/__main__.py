"""`python -m services.cli ...`: what `fangpin up` and the end-to-end tests start."""

from services.cli import main

if __name__ == "__main__":  # not when a worker process (multiprocessing's spawn) imports it as __mp_main__
    main()
