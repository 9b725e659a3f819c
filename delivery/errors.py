class DeliveryError(Exception):
    """A channel could not deliver. `permanent`: trying again will not help (bad address, a
    4xx answer, bad configuration) and the user must fix something. `retry_after`: seconds
    the receiver asked us to wait (429/503). `channel_fault`: False when the channel itself
    is fine and must not be marked failing (every recipient unsubscribed)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        http_status: int | None = None,
        retry_after: float | None = None,
        channel_fault: bool = True,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.http_status = http_status
        self.retry_after = retry_after
        self.channel_fault = channel_fault
