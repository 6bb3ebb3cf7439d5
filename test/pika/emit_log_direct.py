#!/usr/bin/env python3
# Tutorial 4 (routing), emitter: arguments are severities; publishes "<severity>: Hello World!"
# to direct exchange 'direct_logs' with the severity as routing key.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='direct_logs', exchange_type='direct')

for severity in sys.argv[1:]:
    message = '%s: Hello World!' % severity
    channel.basic_publish(exchange='direct_logs', routing_key=severity, body=message)
    print(" [x] Sent %r:%r" % (severity, message))
connection.close()
