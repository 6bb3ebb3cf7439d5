#!/usr/bin/env python3
# Tutorial 1 ("Hello World!"), consumer: takes one message, fails after 10 s without one.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.queue_declare(queue='hello')

received = []


def callback(ch, method, properties, body):
    print(" [x] Received %s" % body.decode())
    received.append(body)
    ch.stop_consuming()


def timeout():
    print(" [!] timed out waiting for a message")
    channel.stop_consuming()


channel.basic_consume(queue='hello', on_message_callback=callback, auto_ack=True)
connection.call_later(10, timeout)
print(' [*] Waiting for messages.')
channel.start_consuming()
connection.close()
sys.exit(0 if received else 1)
