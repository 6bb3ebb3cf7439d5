#!/usr/bin/env python3
# Tutorial 6 (RPC), server: fib over 'rpc_queue'. Exits after REQUESTS requests
# (default 1), or with 1 after 15 s.
import os
import sys
import pika

REQUESTS = int(os.environ.get('REQUESTS', '1'))

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.queue_declare(queue='rpc_queue')


def fib(n):
    if n == 0:
        return 0
    elif n == 1:
        return 1
    else:
        return fib(n - 1) + fib(n - 2)


served = [0]


def on_request(ch, method, props, body):
    n = int(body)

    print(" [.] fib(%s)" % n)
    print(" [.] reply_to=%s" % props.reply_to)
    response = fib(n)

    ch.basic_publish(exchange='',
                     routing_key=props.reply_to,
                     properties=pika.BasicProperties(correlation_id=props.correlation_id),
                     body=str(response))
    ch.basic_ack(delivery_tag=method.delivery_tag)
    served[0] += 1
    if served[0] >= REQUESTS:
        ch.stop_consuming()


def timeout():
    print(" [!] timed out")
    channel.stop_consuming()


channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue='rpc_queue', on_message_callback=on_request)
connection.call_later(15, timeout)

print("READY")
print(" [x] Awaiting RPC requests")
channel.start_consuming()
connection.close()
sys.exit(0 if served[0] >= REQUESTS else 1)
