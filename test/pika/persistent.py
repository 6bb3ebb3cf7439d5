#!/usr/bin/env python3
# A persistent message to a durable queue, fetched back with basic_get.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.queue_declare(queue='durable_queue', durable=True)
channel.basic_publish(
    exchange='',
    routing_key='durable_queue',
    body='persistent hello',
    properties=pika.BasicProperties(delivery_mode=2))
print(" [x] Sent 'persistent hello'")

method, properties, body = channel.basic_get(queue='durable_queue', auto_ack=False)
if method is None:
    print(" [!] queue empty")
    sys.exit(1)
print("body=%s" % body.decode())
print("delivery_mode=%s" % properties.delivery_mode)
print("redelivered=%s" % method.redelivered)
channel.basic_ack(delivery_tag=method.delivery_tag)

# now empty
method, properties, body = channel.basic_get(queue='durable_queue', auto_ack=True)
print("after_ack_empty=%s" % (method is None))
connection.close()
sys.exit(0 if method is None else 1)
