"""Delivery channels behind one adapter interface (:class:`base.Channel`): SMTP e-mail, Aliyun SMS, WeChat
template messages, and the development outbox used when no credentials are configured."""
