"""The SMTP adapter: a UTF-8 plain-text mail per notice, STARTTLS and login when configured."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid

from pydantic import SecretStr

from changes.ports import OutgoingMail
from core.errors import DomainError
from core.settings import Settings


class MailNotSent(DomainError):
    """The SMTP server refused the mail or could not be reached."""

    http_status = 502
    exit_code = 6
    code = "mail_not_sent"


class SmtpMailer:
    """Sends through one SMTP server; a connection per mail (notices are few)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        sender_name: str = "",
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.sender_name = host, port, sender, sender_name
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            sender_name=settings.smtp_from_name,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )

    def message(self, mail: OutgoingMail) -> EmailMessage:
        """The MIME message: UTF-8 body, RFC 2047 subject and display name."""
        msg = EmailMessage(policy=SMTP)
        msg["From"] = (
            formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        )
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(mail.body, charset="utf-8", cte="base64")
        return msg

    def send(self, mail: OutgoingMail) -> str:
        msg = self.message(mail)
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password.get_secret_value())
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailNotSent(
                f"SMTP {where} did not take the mail to {mail.to}: {type(exc).__name__}: {exc}",
                to=mail.to,
            ) from None
        return str(msg["Message-ID"])
