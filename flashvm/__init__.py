"""flashvm: a simulated Stanford FLASH multiprocessor and the Disco virtual machine monitor."""
__version__ = "0.1.0"
