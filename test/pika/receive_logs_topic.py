#!/usr/bin/env python3
# Tutorial 5 (topics), subscriber: binds an exclusive queue to 'topic_logs' for each
# binding key argument. Prints "<routing key>|<body>" per message. READY/EXPECT/GRACE as
# in receive_logs.py.
import os
import sys
import pika

EXPECT = int(os.environ.get('EXPECT', '1'))
GRACE = float(os.environ.get('GRACE', '0.5'))

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='topic_logs', exchange_type='topic')

result = channel.queue_declare(queue='', exclusive=True)
queue_name = result.method.queue

binding_keys = sys.argv[1:]
if not binding_keys:
    sys.stderr.write("Usage: %s [binding_key]...\n" % sys.argv[0])
    sys.exit(1)

for binding_key in binding_keys:
    channel.queue_bind(exchange='topic_logs', queue=queue_name, routing_key=binding_key)

received = []


def callback(ch, method, properties, body):
    print("%s|%s" % (method.routing_key, body.decode()))
    received.append(body)
    if len(received) == EXPECT:
        connection.call_later(GRACE, channel.stop_consuming)


def timeout():
    print(" [!] timed out with %d of %d messages" % (len(received), EXPECT))
    channel.stop_consuming()


channel.basic_consume(queue=queue_name, on_message_callback=callback, auto_ack=True)
connection.call_later(10, timeout)
print("READY")
channel.start_consuming()
connection.close()
sys.exit(0 if len(received) >= EXPECT else 1)
