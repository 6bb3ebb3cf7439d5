#!/usr/bin/env python3
# Publisher confirms: a mandatory publish that routes nowhere raises UnroutableError;
# one to an existing queue succeeds.
import os
import sys
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()
channel.confirm_delivery()

failed = False

try:
    channel.basic_publish(exchange='', routing_key='no-such-queue-anywhere',
                          body='lost', mandatory=True)
    print("unroutable: published (no error)")
    failed = True
except pika.exceptions.UnroutableError as e:
    print("unroutable: UnroutableError")
    for m in e.messages:
        print("returned: %s %s %s" % (m.method.reply_code, m.method.routing_key, m.body.decode()))
except pika.exceptions.NackError:
    print("unroutable: NackError")
    failed = True

channel.queue_declare(queue='confirm_queue')
try:
    channel.basic_publish(exchange='', routing_key='confirm_queue',
                          body='kept', mandatory=True,
                          properties=pika.BasicProperties(content_type='text/plain',
                                                          delivery_mode=2))
    print("routable: confirmed")
except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as e:
    print("routable: %s" % type(e).__name__)
    failed = True

method, properties, body = channel.basic_get(queue='confirm_queue', auto_ack=True)
print("got: %s" % (body.decode() if body is not None else None))
if body != b'kept':
    failed = True

# The channel is still usable after the return.
print("channel open: %s" % channel.is_open)
connection.close()
sys.exit(1 if failed else 0)
