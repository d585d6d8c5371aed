"""The explorer's client side, package data of :mod:`plotting.explorer`: JavaScript, CSS, HTML."""
