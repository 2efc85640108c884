#!/bin/sh
echo "app: $(cat /app/etc/status)"
