#!/usr/bin/env python3
# Tutorial 5 (topics), emitter: arguments are routing keys; publishes "<key>: Hello World!"
# to topic exchange 'topic_logs'.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='topic_logs', exchange_type='topic')

for routing_key in sys.argv[1:]:
    message = '%s: Hello World!' % routing_key
    channel.basic_publish(exchange='topic_logs', routing_key=routing_key, body=message)
    print(" [x] Sent %r:%r" % (routing_key, message))
connection.close()
