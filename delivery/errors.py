class DeliveryError(Exception):
    """A channel could not deliver. `permanent`: trying again will not help (bad address,
    bad configuration); the user must fix something."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
