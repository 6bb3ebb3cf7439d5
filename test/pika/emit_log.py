#!/usr/bin/env python3
# Tutorial 3 (publish/subscribe), emitter: one message per argument to fanout 'logs'.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='logs', exchange_type='fanout')

for message in sys.argv[1:]:
    channel.basic_publish(exchange='logs', routing_key='', body=message)
    print(" [x] Sent %s" % message)
connection.close()
