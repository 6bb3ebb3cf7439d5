#!/usr/bin/env python3
# Tutorial 2 (work queues), producer: one persistent message per argument.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.queue_declare(queue='task_queue', durable=True)

for message in sys.argv[1:]:
    channel.basic_publish(
        exchange='',
        routing_key='task_queue',
        body=message,
        properties=pika.BasicProperties(
            delivery_mode=2,  # make message persistent
        ))
    print(" [x] Sent %s" % message)
connection.close()
