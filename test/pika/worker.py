#!/usr/bin/env python3
# Tutorial 2 (work queues), worker: prefetch 1, manual acks, sleeps 0.05 s per dot.
# Exits 0 after IDLE seconds (default 2) without a message; exits 1 if a message
# arrives that is not persistent.
import os
import sys
import time
import pika

IDLE = float(os.environ.get('IDLE', '2'))

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.queue_declare(queue='task_queue', durable=True)

state = {'timer': None, 'failed': False}


def idle():
    channel.stop_consuming()


def rearm():
    if state['timer'] is not None:
        connection.remove_timeout(state['timer'])
    state['timer'] = connection.call_later(IDLE, idle)


def callback(ch, method, properties, body):
    print(" [x] Received %s" % body.decode())
    if properties.delivery_mode != 2:
        print(" [!] not persistent: delivery_mode=%r" % properties.delivery_mode)
        state['failed'] = True
    time.sleep(body.count(b'.') * 0.05)
    print(" [x] Done %s" % body.decode())
    ch.basic_ack(delivery_tag=method.delivery_tag)
    rearm()


channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue='task_queue', on_message_callback=callback)
rearm()
print('READY')
channel.start_consuming()
connection.close()
sys.exit(1 if state['failed'] else 0)
