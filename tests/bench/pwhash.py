#!/usr/bin/env python3
"""pwhash.py PASSWORD: print an Argon2id hash string of PASSWORD made by
libsodium's crypto_pwhash_str with the interactive limits, the cost the
services use by default (PASSWORD_HASH_COST=interactive), so that logging in
as a seeded user costs what logging in as a real one does."""
import ctypes
import ctypes.util
import sys

lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
if lib.sodium_init() < 0:
    sys.exit("pwhash.py: sodium_init failed")
lib.crypto_pwhash_opslimit_interactive.restype = ctypes.c_size_t
lib.crypto_pwhash_memlimit_interactive.restype = ctypes.c_size_t
ops = lib.crypto_pwhash_opslimit_interactive()
mem = lib.crypto_pwhash_memlimit_interactive()
out = ctypes.create_string_buffer(128)
pw = sys.argv[1].encode()
if lib.crypto_pwhash_str(out, pw, ctypes.c_ulonglong(len(pw)),
                         ctypes.c_ulonglong(ops), ctypes.c_size_t(mem)) != 0:
    sys.exit("pwhash.py: crypto_pwhash_str failed (out of memory?)")
print(out.value.decode())
